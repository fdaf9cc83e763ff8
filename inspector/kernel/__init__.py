"""The process that holds one live model and runs its jobs (:mod:`.process`), and the window's
side of it (:mod:`.client`)."""

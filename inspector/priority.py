"""The scheduling priority of the processes that compute for the window."""

NICENESS = 5
"""How much lower than the window's the scheduling priority of a model's kernel and of the
projection process is (``os.nice``). The window's short bursts of work (painting, a curve's axis
text) then get a core at once while TensorFlow, openTSNE or UMAP keep both busy; the computing
process loses almost nothing, since the window is mostly idle. At 15 the window stalled less
while training, but extraction ran 10-15 % slower."""

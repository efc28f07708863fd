"""The ModelPanel's and AdadeltaMonitor's figures: losses, per-layer statistics, the data
and decision boundary."""

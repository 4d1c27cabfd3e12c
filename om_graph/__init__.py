"""om-graph: order management for telecom and technology providers."""

__version__ = "0.1.0"

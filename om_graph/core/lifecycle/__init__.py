"""The order's lifecycle across contexts: processing a submitted order through its stages and
running its fulfilment work."""

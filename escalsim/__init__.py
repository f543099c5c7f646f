"""escalsim: escalation scenarios as discrete-event Monte Carlo models."""

__version__ = "0.1.0"

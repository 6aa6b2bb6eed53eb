from kfp_mlsecops.components.gate.component import gate

__all__ = ["gate"]

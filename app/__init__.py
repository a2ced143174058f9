"""renewal: spatial planning for the renovation of old industrial blocks (老旧工业区块改造提升) in Cixi."""

__version__ = "0.1.0"

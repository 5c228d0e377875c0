"""The image pipeline: bytes + options in, bytes out. Plain Python, no Django."""

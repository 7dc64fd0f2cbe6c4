"""The compiled wire loops (`schemas/_wire.c`), or None where the extension is not built: callers then use numpy."""

try:
    from schemas import _wire as native
except ImportError:
    native = None

__all__ = ["native"]

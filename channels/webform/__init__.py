"""The resident web form ``GET|POST /report`` (zh-CN, mobile first, photos, location)."""

from channels.webform.routes import build_router

__all__ = ["build_router"]

"""The resident web form ``GET|POST /report`` (zh-CN, mobile first, photos, location)."""

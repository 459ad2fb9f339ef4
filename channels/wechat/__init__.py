"""WeChat official account: ``GET|POST /channels/wechat`` (plaintext, compatible, safe mode)."""

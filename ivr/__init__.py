"""The 96010 call flow: FastAGI server, prompts, recording and operator takeover."""

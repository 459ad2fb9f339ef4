"""Offline transcription with Vosk: models, file and streaming recognition, the live
AudioSocket transcriber and the batch RQ jobs. Imports only :mod:`router`."""

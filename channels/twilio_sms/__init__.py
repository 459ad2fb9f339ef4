"""Twilio SMS/MMS: ``POST /channels/twilio/sms`` (signature check, parse → Intake, TwiML)."""

"""The routing room: a registered ticket placed down the grid (district → street → community
→ grid cell), classified, given its loop and deadlines, checked for duplicates and handed to
its destinations; escalation of overdue tickets and operators' edits. It imports only
:mod:`tickets` (delivery is reached through the job context, see :mod:`router.context`)."""

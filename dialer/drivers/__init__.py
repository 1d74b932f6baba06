"""Telephony drivers behind ``dialer.core.ports.TelephonyDriver``: ``sim`` (modelled customers) and, later, Asterisk."""

"""Telephony drivers behind ``dialer.ports.TelephonyDriver``: ``sim`` (modelled customers) and, later, Asterisk."""

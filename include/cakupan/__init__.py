"""Cakupan: workers' social-security coverage per Indonesian regency."""

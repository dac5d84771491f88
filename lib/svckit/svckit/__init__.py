"""svckit: what every service of the sales-team backend needs, written once.

The library never imports a service; services import it.
"""

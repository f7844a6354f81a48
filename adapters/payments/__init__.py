"""Payments by card: Stripe (Checkout in production) and its local sandbox, and their webhooks."""

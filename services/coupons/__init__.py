"""coupons: templates, claim, issue, till redemption, rollback, automatic rules."""

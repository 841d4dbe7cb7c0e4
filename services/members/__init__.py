"""members: who the customer is, what they bought, what they are worth, who looks after them."""

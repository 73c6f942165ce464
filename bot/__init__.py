"""A Slack bot whose conversation memory lives on OpenAI's side, chained per Slack thread."""

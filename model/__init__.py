"""Iris's captioning model: Show, Attend and Tell, plus a Show-and-Tell baseline."""

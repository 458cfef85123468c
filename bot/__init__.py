"""Stillpoint: an aftercare companion for bodywork practices, over Telegram."""

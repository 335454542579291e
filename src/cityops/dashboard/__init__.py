"""The city dashboard (一屏观天下): figures of the other domains for one screen of the city."""

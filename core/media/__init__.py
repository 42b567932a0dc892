"""Voice notes and photos: fetched by channels, transcribed or prepared here, seen by the turn."""

from core.media.pipeline import MediaPipeline, MediaTurn
from core.media.source import Fetched, MediaSource, MediaTooLarge, MediaUnavailable

__all__ = ["Fetched", "MediaPipeline", "MediaSource", "MediaTooLarge", "MediaTurn",
           "MediaUnavailable"]

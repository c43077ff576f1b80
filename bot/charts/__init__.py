"""Charts sent to users as pictures."""

from bot.charts.wheel import render_wheel, render_wheel_history

__all__ = ["render_wheel", "render_wheel_history"]

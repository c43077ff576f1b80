"""The kit's guidance for mentors ("Mentoriem"/"Mentoram" in its §1.2, §2.2 and §3.2): how
to use each coaching tool with a mentee, step by step, and the questions it suggests for
the conversation after a mentee shared a session's summary. Keyed by the dialog's id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.texts import N_


@dataclass(frozen=True)
class ToolGuide:
    title: str  # the dialog's title (its message id)
    advice: str
    follow_up: tuple[str, ...]  # two or three questions for the next conversation


def guide_of(dialog_id: str) -> ToolGuide | None:
    """The guide of a coaching dialog, if the kit has one for it."""
    return next((guide for tool, guide in GUIDES.items() if tool == dialog_id), None)


Tool = Literal["grow", "wheel", "dilts"]

GUIDES: dict[Tool, ToolGuide] = {
    "grow": ToolGuide(
        N_("GROW session"),
        N_(
            "<b>GROW: with your mentee</b>\n\n"
            "Try it on yourself first: define the main goal that matters most to you and "
            "when it will be reached, and how you will know it is reached. Look at where you "
            "are now: what is done already, and the two or three main obstacles, inner and "
            "outer. Find three options that use your strengths and resources, with two or "
            "three advantages and limits each, and choose the best. For it, set three or "
            "four concrete actions, the time they need and how you will report on them.\n\n"
            "Then support your mentee through the stages one by one, with questions that "
            "let them focus on the one goal that matters most to them and plan the most "
            "effective way to reach it:\n"
            "1. <b>Goal</b>: What do you want? A goal is specific, measurable, achievable, "
            "relevant and time-bound (SMART), and inspiring.\n"
            "2. <b>Reality</b>: Where are you now? What works well at the moment? What are "
            "the inner and outer obstacles?\n"
            "3. <b>Options</b>: What could you do? What are your options to move forward? "
            "What could be your first step?\n"
            "4. <b>Will</b>: What will you do? Which options will you choose? What is your "
            "next step, and when? What do you commit to doing?"
        ),
        (
            N_("How will you know that your goal has been reached?"),
            N_("What are the inner and outer obstacles on the way?"),
            N_("What is your next step, and what do you commit to doing?"),
        ),
    ),
    "wheel": ToolGuide(
        N_("Wheel of Life"),
        N_(
            "<b>Wheel of Life: with your mentee</b>\n\n"
            "Try it on yourself first: name the main areas of focus in your life, rate how "
            "you are doing in each from 1 to 10 (10: an excellent result, mastery reached; "
            "1: it cannot get any worse), and set two or three actions that improve the "
            "areas where you do worst.\n\n"
            "Then, with your mentee:\n"
            "1. They rate each area of the wheel from 1 to 10; the picture gives an "
            "immediate overview of their current life balance.\n"
            "2. Coach them on what they have learned from the wheel.\n"
            "3. Identify at least one action they could work on to improve their score in "
            "one of the areas, and so improve their life balance.\n\n"
            "A full life is marked by a sense of inner balance and growth: the better one "
            "does in each area of focus, the more fulfilment one experiences."
        ),
        (
            N_("What has the wheel taught you?"),
            N_("Which one action could improve your score in one of the wheel's areas?"),
            N_("How would that change your life balance?"),
        ),
    ),
    "dilts": ToolGuide(
        N_("Dilts logical levels"),
        N_(
            "<b>Dilts logical levels: with your mentee</b>\n\n"
            "No problem is solved by staying on the level where it is: to find the best "
            "solution, move to a higher one. Changes on a higher level tend to affect the "
            "lower levels more than the other way round.\n\n"
            "Step by step:\n"
            "1. Put the question or problem into words together.\n"
            "2. Decide which logical level of the pyramid it belongs to.\n"
            "3. Go through the levels from the base of the pyramid up: <b>Environment</b>: "
            "Where? When? With whom? <b>Behaviour</b>: What do I do? <b>Competence</b>: How "
            "can I do it? <b>Values</b>: Why is it so important? <b>Identity</b>: Who am I? "
            "<b>Purpose</b>: Why? For whom?\n"
            "4. Then go the other way, from the top of the pyramid down.\n\n"
            "To practise, the kit's case: a mentee wants to leave the full-time job they "
            "have had for five years. They feel they are not fulfilling themselves, often "
            "work ten hours a day for others, and would like to start their own business, "
            "follow their passion and become more independent."
        ),
        (
            N_("On which level of the pyramid does your problem sit?"),
            N_("Why is it so important to you?"),
            N_("How can you do it?"),
        ),
    ),
}

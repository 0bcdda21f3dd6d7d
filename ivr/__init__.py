"""The voice menu: declarative call flows, a sans-IO runner, the caller listener, closing flows."""

from ivr.closing import ClosingKind, closing_flow, survey_flow
from ivr.driver import ControlAction, IvrCall
from ivr.events import (
    Action,
    CallerHungUp,
    Digit,
    Event,
    Hangup,
    HangupReason,
    PlayPrompt,
    PromptFinished,
    PromptRef,
    QuietSpeech,
    RecordSurvey,
    Silence,
    SpeechStarted,
    StartListening,
    StopListening,
    StopPlayback,
    SurveyScore,
    Timeout,
    TransferReason,
    TransferToQueue,
)
from ivr.flow import Flow, FlowRegistry, SwitchBoard
from ivr.flow_loader import FlowIssue, FlowValidationError, load_flow, load_flow_text
from ivr.listener import Listener, ListenerConfig
from ivr.playback import Playback, render
from ivr.runner import MenuRunner, Phase, RunnerError

__all__ = [
    "Action",
    "CallerHungUp",
    "ClosingKind",
    "ControlAction",
    "Digit",
    "Event",
    "Flow",
    "FlowIssue",
    "FlowRegistry",
    "FlowValidationError",
    "Hangup",
    "HangupReason",
    "IvrCall",
    "Listener",
    "ListenerConfig",
    "MenuRunner",
    "Phase",
    "PlayPrompt",
    "Playback",
    "PromptFinished",
    "PromptRef",
    "QuietSpeech",
    "RecordSurvey",
    "RunnerError",
    "Silence",
    "SpeechStarted",
    "StartListening",
    "StopListening",
    "StopPlayback",
    "SurveyScore",
    "SwitchBoard",
    "Timeout",
    "TransferReason",
    "TransferToQueue",
    "closing_flow",
    "load_flow",
    "load_flow_text",
    "render",
    "survey_flow",
]

"""The list items Asterisk 20 answers QueueStatus and QueueSummary with.

QueueStatus lists each queue's QueueParams, then a QueueMember per member, then a
QueueEntry per waiting caller; QueueSummary one QueueSummary per queue. The items are
written without an ActionID: `queuepulse.pbxsim.snapshot.Snapshot` adds it, with the
response and the closing event, when it answers.
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import Channel, Member


def queue_params(
    queue: str,
    strategy: str,
    *,
    calls: int,
    holdtime: int,
    talktime: int,
    completed: int,
    abandoned: int,
    in_service_level: int,
    service_level_s: int,
) -> str:
    """A queue's QueueParams: its strategy, callers waiting, averages and service level."""
    sl = 100.0 * in_service_level / completed if completed else 0.0
    answered_or_not = completed + abandoned
    sl2 = 100.0 * in_service_level / answered_or_not if answered_or_not else 0.0
    return (
        f"Event: QueueParams\r\nQueue: {queue}\r\nMax: 0\r\n"
        f"Strategy: {strategy}\r\nCalls: {calls}\r\n"
        f"Holdtime: {holdtime}\r\nTalkTime: {talktime}\r\n"
        f"Completed: {completed}\r\nAbandoned: {abandoned}\r\n"
        f"ServiceLevel: {service_level_s}\r\nServicelevelPerf: {sl:.1f}\r\n"
        f"ServicelevelPerf2: {sl2:.1f}\r\nWeight: 0"
    )


def queue_member(member: Member) -> str:
    """A member's QueueMember item (its own field names and order, not QueueMemberStatus's)."""
    return (
        f"Event: QueueMember\r\nQueue: {member.queue}\r\nName: {member.name}\r\n"
        f"Location: {member.interface}\r\nStateInterface: {member.state_interface}\r\n"
        f"Membership: {'dynamic' if member.dynamic else 'static'}\r\n"
        f"Penalty: {member.penalty}\r\nCallsTaken: {member.calls_taken}\r\n"
        f"LastCall: {member.last_call}\r\nLastPause: {member.last_pause}\r\n"
        f"LoginTime: {member.login_time}\r\nInCall: {int(member.in_call)}\r\n"
        f"Status: {member.status}\r\nPaused: {int(member.paused)}\r\n"
        f"PausedReason: {member.paused_reason}\r\nWrapuptime: 0"
    )


def queue_entry(queue: str, position: int, caller: Channel, waited: int) -> str:
    """A waiting caller's QueueEntry: its place in the queue and how long it has waited."""
    return (
        f"Event: QueueEntry\r\nQueue: {queue}\r\nPosition: {position}\r\n"
        f"Channel: {caller.name}\r\nUniqueid: {caller.uniqueid}\r\n"
        f"CallerIDNum: {caller.cid_num}\r\nCallerIDName: {caller.cid_name}\r\n"
        f"ConnectedLineNum: {caller.cl_num}\r\nConnectedLineName: {caller.cl_name}\r\n"
        f"Wait: {waited}\r\nPriority: 0"
    )


def queue_summary(
    queue: str,
    *,
    logged_in: int,
    available: int,
    callers: int,
    holdtime: int,
    talktime: int,
    longest: int,
) -> str:
    """A queue's QueueSummary: members logged in and free, callers and the longest wait."""
    return (
        f"Event: QueueSummary\r\nQueue: {queue}\r\nLoggedIn: {logged_in}\r\n"
        f"Available: {available}\r\nCallers: {callers}\r\n"
        f"HoldTime: {holdtime}\r\nTalkTime: {talktime}\r\n"
        f"LongestHoldTime: {longest}"
    )

"""What the collectors share, written once, so each source package holds only what is its own.

The two TCP sources (Asterisk AMI, the FreeSWITCH Event Socket) speak text
protocols of ``Key: Value`` lines over a connection a collector keeps up for
ever: :mod:`.lines` reads those lines with a size limit, :mod:`.linked` keeps
one session up (reconnecting with backoff), :mod:`.inbox` reads messages in a
task of their own and waits for a reply while keeping the events that arrive
before it, and :mod:`.keepalive` follows the live messages and drops a link
whose keep-alive goes unanswered. For every source: :mod:`.fields` and
:mod:`.names` hold the value checks and the configured name look-ups,
:mod:`.tracking` the bound on what a translator remembers, :mod:`.limits` the
input limits, and :mod:`.agents` the one agent-state emitter that follows the
fold's rules.
"""

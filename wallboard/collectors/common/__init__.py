"""What the TCP sources (Asterisk AMI, FreeSWITCH Event Socket) share, written once.

Both are text protocols of ``Key: Value`` lines over a TCP connection that a
collector keeps up for ever. :mod:`.lines` reads those lines with a size limit,
:mod:`.linked` keeps one session up (reconnecting with backoff), :mod:`.inbox`
reads messages in a task of their own and waits for a reply while keeping the
events that arrive before it, :mod:`.keepalive` follows the live stream and
drops a link whose keep-alive goes unanswered. :mod:`.fields` and
:mod:`.names` hold the value checks and the configured name look-ups both
translators use, :mod:`.tracking` the bound on what they remember, and
:mod:`.limits` the input limits.
"""

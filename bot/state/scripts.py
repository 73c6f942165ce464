"""The Lua scripts a turn runs in Redis: one to begin it, one to wait for the lock, one to finish it.

Each touches only the keys it is given (KEYS), all in one cluster slot; `memory.py` names them.
"""

# Take the conversation's lock if it is free and no earlier message waits for it (or if this turn took it
# already: a begin asked again); else join its line (ordered by message ts).
# Returns {taken, head member, head score, locked}; no head: nobody waits.
_TAKE_TURN = """
local function take_turn(queue, lock, member, score, queue_ttl, token, lock_ms)
  local head = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  local holder = redis.call('GET', lock)
  local locked = holder and 1 or 0
  if holder == token or (locked == 0 and (not head[1] or tonumber(head[2]) >= tonumber(score))) then
    redis.call('SET', lock, token, 'PX', lock_ms)
    if head[1] then redis.call('ZREM', queue, member) end
    return {1, head[1] or false, head[2] or false, 0}
  end
  redis.call('ZADD', queue, score, member)
  redis.call('EXPIRE', queue, queue_ttl)
  return {0, head[1] or false, head[2] or false, locked}
end
"""

# KEYS: seen, thread, channel reset, not ours, remembering since, viewing, queue, lock, and optionally the
#       long-term notes whose version to read (the channel's; the speaker's too where it shares the node).
# ARGV: seen ttl, part of the thread required ('1'), state to join with ('' for none), thread ttl,
#       take a place in line ('1'), message ts, its score, queue ttl, lock token, lock ms.
# Returns {0} for a repeat delivery, else {1, state, channel reset, not ours, since, viewing, take_turn...,
# notes versions...}.
# The message is claimed with the turn's token: asked again with it (its first answer was lost in a Redis
# stall), the script answers as the first time, and a claim by another delivery stays a repeat.
BEGIN_SCRIPT = (
    _TAKE_TURN
    + """
if not redis.call('SET', KEYS[1], ARGV[9], 'NX', 'EX', ARGV[1]) and redis.call('GET', KEYS[1]) ~= ARGV[9] then
  return {0}
end
local state = redis.call('GET', KEYS[2])
local part_of_it = state or ARGV[2] ~= '1'
if ARGV[3] ~= '' and not state and part_of_it then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  state = ARGV[3]
end
local known = redis.call('MGET', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
local line = {0, false, false, 0}
if ARGV[5] == '1' and part_of_it then
  line = take_turn(KEYS[7], KEYS[8], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
end
local reply = {1, state, known[1], known[2], known[3], known[4], line[1], line[2], line[3], line[4]}
for i = 9, #KEYS do table.insert(reply, redis.call('HGET', KEYS[i], '_v') or '') end
return reply
"""
)

# Waiting for the lock. KEYS: queue, lock, thread, channel reset, not ours, remembering since, viewing.
# ARGV: message ts, its score, queue ttl, lock token, lock ms.
# Returns take_turn's answer, and once the lock is taken, what the conversation remembers under it.
WAIT_SCRIPT = (
    _TAKE_TURN
    + """
local line = take_turn(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if line[1] == 0 then return line end
local known = redis.call('MGET', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return {1, line[2], line[3], 0, known[1], known[2], known[3], known[4], known[5]}
"""
)

# KEYS: thread, lock. ARGV: new state ('' to only stay part of the thread), mode, expected, the new
# state's anchor, thread ttl, lock token ('' for none), the state to stay part of the thread with.
# Stores the state if the thread still holds what the turn started from ('cas'), or if it answers a
# later message than the stored one ('newer', for writes replayed after an outage); then releases the
# lock if this turn still holds it. Returns 1 if the state was stored.
FINISH_SCRIPT = """
local stored = 0
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if not cur then redis.call('SET', KEYS[1], ARGV[7], 'EX', ARGV[5]) end
else
  local store = true
  if ARGV[2] == 'cas' then
    store = (cur or '') == ARGV[3]
  elseif cur then
    local fields = {}
    for f in string.gmatch(cur .. '|', '([^|]*)|') do table.insert(fields, f) end
    local anchor = tonumber(fields[3]) or 0
    local reset = tonumber(fields[4]) or 0
    store = anchor < tonumber(ARGV[4]) and reset < tonumber(ARGV[4])
  end
  if store then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
    stored = 1
  end
end
if ARGV[6] ~= '' and redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
return stored
"""

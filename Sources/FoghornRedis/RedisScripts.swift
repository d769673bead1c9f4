/// The Lua scripts the Redis store runs (atomic on the server: a commit and its changelog entry
/// land together or not at all; a load reads every record and the changelog head at one point).
///
/// Keys (prefix `foghorn:<cluster_id>:`): `edges`, `tokens`, `modes`, `playback`, `mist`
/// (hashes by ID, values the mutation's JSON), `weights` (string), `log` (the changelog stream:
/// fields `r` replica ID, `m` JSON array of mutations as applied), `epoch` (set once per
/// dataset: missing means Redis lost everything), `secret` (a generated cluster secret).
enum RedisScripts {
    /// KEYS[1] prefix; ARGV[1] replica ID, ARGV[2] changelog MAXLEN (approximate), ARGV[3] JSON
    /// array of mutations, ARGV[4] `seed` when re-seeding an emptied Redis (then ARGV[5] is the
    /// new epoch). Returns the changelog entry's ID; errors (nothing written):
    /// `ENROLLMENT_TOKEN_USED` when a `redeem` finds its token spent or revoked,
    /// `STATE_EPOCH_MISSING` when Redis lost its data (the replica re-seeds it first).
    static let commit = """
        local p = KEYS[1]
        if redis.call('EXISTS', p .. 'epoch') == 0 and ARGV[4] ~= 'seed' then return redis.error_reply('STATE_EPOCH_MISSING') end
        local ms = cjson.decode(ARGV[3])
        for _, m in ipairs(ms) do
          if m.k == 'redeem' then
            local t = redis.call('HGET', p .. 'tokens', m.id)
            if t then
              local d = cjson.decode(t)
              if d.revoked or d.uses >= m.max then return redis.error_reply('ENROLLMENT_TOKEN_USED') end
            end
          end
        end
        local out = {}
        for _, m in ipairs(ms) do
          local k = m.k
          if k == 'edge' then
            redis.call('HSET', p .. 'edges', m.id, cjson.encode(m)); table.insert(out, m)
          elseif k == 'edge_removed' then
            redis.call('HDEL', p .. 'edges', m.id); redis.call('HDEL', p .. 'modes', m.id); table.insert(out, m)
          elseif k == 'redeem' or k == 'token' or k == 'revoke' then
            local t = redis.call('HGET', p .. 'tokens', m.id)
            local d = {uses = 0, exp = m.exp, revoked = false}
            if t then d = cjson.decode(t) end
            if k == 'redeem' then d.uses = d.uses + 1
            elseif k == 'token' then if m.uses > d.uses then d.uses = m.uses end
            else d.revoked = true end
            d.exp = m.exp
            redis.call('HSET', p .. 'tokens', m.id, cjson.encode(d))
            table.insert(out, {k = 'token', id = m.id, uses = d.uses, exp = d.exp})
            if d.revoked then table.insert(out, {k = 'revoke', id = m.id, exp = d.exp}) end
          elseif k == 'mode' then
            if m.mode == 'normal' then redis.call('HDEL', p .. 'modes', m.id) else redis.call('HSET', p .. 'modes', m.id, cjson.encode(m)) end
            table.insert(out, m)
          elseif k == 'playback' then
            redis.call('HSET', p .. 'playback', m.id, cjson.encode(m)); table.insert(out, m)
          elseif k == 'playback_removed' then
            redis.call('HDEL', p .. 'playback', m.id); table.insert(out, m)
          elseif k == 'weights' then
            redis.call('SET', p .. 'weights', cjson.encode(m)); table.insert(out, m)
          elseif k == 'mist' then
            redis.call('HSET', p .. 'mist', m.id, cjson.encode(m)); table.insert(out, m)
          end
        end
        if ARGV[4] == 'seed' then redis.call('SET', p .. 'epoch', ARGV[5], 'NX') end
        return redis.call('XADD', p .. 'log', 'MAXLEN', '~', ARGV[2], '*', 'r', ARGV[1], 'm', cjson.encode(out))
        """

    /// KEYS[1] prefix. Returns {epoch or false, last changelog ID or '0-0', edges, tokens, modes,
    /// playback, mist (each HGETALL's flat list), weights or false}.
    static let load = """
        local p = KEYS[1]
        local last = redis.call('XREVRANGE', p .. 'log', '+', '-', 'COUNT', 1)
        local lastId = '0-0'
        if #last > 0 then lastId = last[1][1] end
        return {redis.call('GET', p .. 'epoch'), lastId,
          redis.call('HGETALL', p .. 'edges'), redis.call('HGETALL', p .. 'tokens'), redis.call('HGETALL', p .. 'modes'),
          redis.call('HGETALL', p .. 'playback'), redis.call('HGETALL', p .. 'mist'), redis.call('GET', p .. 'weights')}
        """

    /// KEYS[1] prefix. Returns {the newest ID trimmed or deleted from the changelog, the newest
    /// ID written} (`XINFO STREAM`'s `max-deleted-entry-id` and `last-generated-id`, Redis 7;
    /// '0-0' when there is no stream yet).
    static let ends = """
        local p = KEYS[1]
        if redis.call('EXISTS', p .. 'log') == 0 then return {'0-0', '0-0'} end
        local info = redis.call('XINFO', 'STREAM', p .. 'log')
        local deleted, last = '0-0', '0-0'
        for i = 1, #info, 2 do
          if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
          if info[i] == 'last-generated-id' then last = info[i + 1] end
        end
        return {deleted, last}
        """

    /// KEYS[1] prefix, ARGV[1] now (Unix seconds): drops tokens past their expiry (their uses no
    /// longer matter); run by each replica as it starts.
    static let dropExpiredTokens = """
        local p = KEYS[1]
        local all = redis.call('HGETALL', p .. 'tokens')
        local dropped = 0
        for i = 1, #all, 2 do
          local d = cjson.decode(all[i + 1])
          if d.exp <= tonumber(ARGV[1]) then redis.call('HDEL', p .. 'tokens', all[i]); dropped = dropped + 1 end
        end
        return dropped
        """
}

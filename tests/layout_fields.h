/*
 * The fields of the shared segment layout (lib/layout.h) a hostile peer can
 * scribble on, one X(field) each, in layout order: what the corruption test
 * (test_corruption.c) and the fuzzer (fuzz/fuzz_segment.c) both walk, so
 * that a field added to the layout is added to both. The magic (8 bytes at
 * offset 0) and the broadcast log entry (one 8-byte word) are not listed.
 */
#ifndef FRAMERING_TEST_LAYOUT_FIELDS_H
#define FRAMERING_TEST_LAYOUT_FIELDS_H

/* struct fr_shm_header: identity line, then producer, consumer, wait and control lines. */
#define FRT_HEADER_FIELDS(X)                                                                  \
	X(abi_version) X(header_bytes) X(segment_bytes) X(mode) X(policy) X(slot_count)       \
	X(max_peers) X(desc_offset) X(log_offset) X(payload_offset) X(payload_stride)         \
	X(frame_capacity) X(width) X(height) X(stride) X(format) X(creator_pid) X(log_count)  \
	X(created_ns) X(creator_start) X(state) X(perms)                                      \
	X(head) X(published) X(producer_waits) X(aborted) X(latest_stalls)                    \
	X(tail) X(consumer_waits) X(redelivered) X(redeliver_pos) X(dropped)                  \
	X(consumed_retired)                                                                   \
	X(data_wait.event) X(data_wait.waiters) X(space_wait.event) X(space_wait.waiters)     \
	X(stream) X(orphans) X(attaches)

/* struct fr_shm_peer: a peer table entry. */
#define FRT_PEER_FIELDS(X)                                                                    \
	X(state) X(role) X(flags) X(pid) X(start_time) X(generation) X(attach_ns) X(held)     \
	X(cursor) X(delivered) X(dropped) X(pinned) X(cpus)

/* struct fr_shm_desc: a slot descriptor. */
#define FRT_DESC_FIELDS(X)                                                                    \
	X(turn) X(seq) X(timestamp_ns) X(bytes) X(width) X(height) X(stride) X(format)        \
	X(flags) X(owner) X(slot)

#endif /* FRAMERING_TEST_LAYOUT_FIELDS_H */

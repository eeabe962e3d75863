-- The scheduler's tick looks only at stages with something due, not at every pending one
-- (a store with a million requests holds ten thousand pending): a stage not yet escalated,
-- by when it was routed (its reminder and its escalation are measured from then), and a
-- pending request, by when it was made (its expiry is measured from then).
CREATE INDEX stages_unescalated_by_routed ON stages (routed_at)
    WHERE state = 'pending' AND escalated_at IS NULL;
CREATE INDEX requests_pending_by_created ON requests (created_at)
    WHERE state = 'pending';

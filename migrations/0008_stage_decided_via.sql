-- How a stage was decided becomes a column of its own (`decided_via`: reaction,
-- same_reaction, command, self_service) instead of markers written into `decision_note`,
-- which from now on holds only what a person wrote (a denial reason). Existing rows are
-- carried over: the three markers were only ever written on stages that were approved (a
-- denied stage's note is always its reason), so they move to the new column and leave the
-- note empty; any other decided stage was decided by a reaction.
ALTER TABLE stages ADD COLUMN decided_via TEXT;

UPDATE stages SET decided_via = CASE
        WHEN state <> 'denied' AND decision_note = 'self_service' THEN 'self_service'
        WHEN state <> 'denied' AND decision_note = 'command' THEN 'command'
        WHEN state <> 'denied' AND decision_note = 'same reaction' THEN 'same_reaction'
        ELSE 'reaction'
    END
    WHERE decided_by IS NOT NULL;

UPDATE stages SET decision_note = NULL
    WHERE state <> 'denied' AND decision_note IN ('self_service', 'command', 'same reaction');

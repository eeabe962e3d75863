-- The requests about one person, newest last: what the licence terms' check (is a licence's
-- request still the last word on its holder?) and the reconciler look up per person.
CREATE INDEX requests_by_target ON requests (target_upn, id);

-- The simulated tenant leaves the bot's production schema: its tables now live in a database
-- file of their own (migrations/simulated/). Before this migration runs, the store copies
-- any rows these tables hold into that file (store/simulated.rs, `carry_over`), so an
-- existing simulated tenant keeps its seats, users, assignments and purchases.
DROP TABLE sim_assignments;
DROP TABLE sim_purchases;
DROP TABLE sim_users;
DROP TABLE sim_skus;

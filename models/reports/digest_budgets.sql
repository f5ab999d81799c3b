-- digest_budgets: the budgets' status on the period's last day, for the audience; over, then at risk, then ok.
select * from budget_status
where day = $end
  and ($everyone
       or (scope = 'app' and coalesce(list_contains($apps::varchar[], value), false))
       or (scope = 'feature' and coalesce(list_contains($features::varchar[], value), false)))
order by case status when 'over' then 0 when 'at_risk' then 1 else 2 end, forecast_pct_of_limit desc

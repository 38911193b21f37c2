-- What a mini-program citizen wrote and WeChat could not be asked about at filing (`unchecked`) is
-- asked about again within two hours, every minute (`intake`'s `/internal/content-checks`); what
-- WeChat refused to check for the request itself (an openid it does not know, say) is `refused`
-- and not asked again. Neither is shown to other citizens among requests nearby.
alter table work_orders drop constraint work_orders_content_check_check;
alter table work_orders add constraint work_orders_content_check_check
    check (content_check in ('pass', 'review', 'risky', 'unchecked', 'refused'));

-- The requests still to be checked, by filing time: a run reads those of the last two hours.
create index work_orders_unchecked on work_orders (created_at) where content_check = 'unchecked';

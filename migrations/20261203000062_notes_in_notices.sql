-- Staff notices quote the note of the event behind them (`{note}`: why the order came back, what
-- the supervisor asks, what help is wanted, the helper's opinion, what the citizen added), so the
-- person on the phone knows what to do without opening the order. Only texts no administrator
-- has changed are rewritten; the change is logged as administrators' changes are.
with changed as (
    update notification_templates t
    set body = v.body, updated_at = now()
    from (values
        ('task_returned',
         '工单 {tracking_number}：{title} 已退回贵单位，请继续办理，办结时限 {deadline}。说明：{note}'),
        ('reminder',
         '工单 {tracking_number}：{title} 被催办，请尽快办理，办结时限 {deadline}。催办意见：{note}'),
        ('supervision',
         '工单 {tracking_number}：{title} 已列入督办，请于 {deadline} 前办结并报告办理情况。督办意见：{note}'),
        ('key_supervision',
         '工单 {tracking_number}：{title} 已列入重点督办，请立即办结并向督查部门报告办理情况（办结时限 {deadline}）。督办意见：{note}'),
        ('task_supplemented',
         '工单 {tracking_number}：{title} 市民补充了新的情况，请查看后办理，办结时限 {deadline}。补充内容：{note}'),
        ('task_co_handling',
         '工单 {tracking_number}：{title} 请贵单位协助办理，并在 {deadline} 前提出协办意见。协办事项：{note}'),
        ('co_handling_arranged',
         '工单 {tracking_number}：{title} 热线中心已请其他单位协办，其意见将于 {deadline} 前反馈，收齐协办意见后再答复。协办事项：{note}'),
        ('co_opinion',
         '工单 {tracking_number}：{title} 协办单位已提出协办意见：{note}'),
        ('co_handling_cancelled',
         '工单 {tracking_number}：{title} 热线中心已取消对贵单位的协办请求，无需再提出意见。原因：{note}'),
        ('co_handling_reminder',
         '工单 {tracking_number}：{title} 热线中心催促贵单位尽快提出协办意见（应于 {deadline} 前反馈）。催办意见：{note}'),
        ('co_handling_proposal_refused',
         '工单 {tracking_number}：{title} 热线中心未同意协办申请，请在 {deadline} 前办结。原因：{note}')
    ) as v (kind, body)
    where t.kind = v.kind and t.updated_by = 'migration'
    returning t.kind, t.title, t.body
)
insert into notification_template_changes (kind, title, body, changed_by)
select kind, title, body, 'migration' from changed;

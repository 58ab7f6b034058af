-- Schedules the four tiers with pg_cron on Supabase: each job calls the monitoring
-- function's /cycle through pg_net with an explicit timeout, the project URL and a
-- dedicated cron secret read from Supabase Vault when the job runs. Never the
-- service key: pg_net keeps request headers in tables other roles can read, and the
-- cron secret may only start cycles. pg_cron reports "succeeded" once the request is
-- queued, so freshness is judged from monitoring_cycles (see /monitoring/health).
--
-- Where pg_cron, pg_net or Vault is absent (plain Postgres, the embedded test
-- server), scheduling is skipped with a NOTICE and everything else still applies.
-- `select monitoring_schedule_cron()` re-registers the jobs later (after enabling
-- the extensions, or changing the `tiers` intervals in monitoring_config); it is
-- idempotent because cron.schedule replaces a job of the same name.

-- The cron expression for an interval: pg_cron 1.5+ takes '1..59 seconds'; older
-- versions run at most once a minute. Longer intervals round to whole minutes or
-- hours that divide an hour or a day.
create or replace function monitoring_cron_expression(interval_seconds int, sub_minute boolean)
returns text
language sql immutable as $$
  select case
    when interval_seconds < 60 and sub_minute then format('%s seconds', greatest(interval_seconds, 1))
    when interval_seconds < 120 then '* * * * *'
    when interval_seconds < 3600 then format('*/%s * * * *', least(30, round(interval_seconds / 60.0)::int))
    when interval_seconds < 86400 then format('0 */%s * * *', least(12, round(interval_seconds / 3600.0)::int))
    else '0 0 * * *'
  end
$$;

-- The request timeout of a tier's job: the interval less a margin, within pg_net's
-- 5 s floor and the edge runtime's 150 s wall clock.
create or replace function monitoring_cron_timeout_ms(interval_seconds int)
returns int
language sql immutable as $$
  select greatest(5000, least(150000, interval_seconds * 1000 - 5000))
$$;

-- What each job runs: POST {tier} to <project url>/functions/v1/monitoring/cycle
-- with the cron secret header. Both values come from Vault at call time, so rotating
-- the secret needs no new job. Returns pg_net's request id.
create or replace function monitoring_cron_invoke(tier text, timeout_ms int)
returns bigint
language plpgsql as $$
declare
  project_url text;
  cron_secret text;
begin
  select decrypted_secret into project_url
  from vault.decrypted_secrets where name = 'monitoring_project_url';
  select decrypted_secret into cron_secret
  from vault.decrypted_secrets where name = 'monitoring_cron_secret';
  if project_url is null or cron_secret is null then
    raise exception 'Cannot start the % cycle: store monitoring_project_url and monitoring_cron_secret in Vault (docs/operations.md)', tier;
  end if;
  return net.http_post(
    url := rtrim(project_url, '/') || '/functions/v1/monitoring/cycle',
    body := jsonb_build_object('tier', tier),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'content-type', 'application/json',
      'x-monitoring-cron-secret', cron_secret,
      'x-monitoring-trigger', 'cron'),
    timeout_milliseconds := timeout_ms);
end;
$$;

-- Registers (or re-registers) one job per tier from the `tiers` config row, falling
-- back to the documented defaults. Returns what it did; skips with a NOTICE when a
-- prerequisite is missing.
create or replace function monitoring_schedule_cron()
returns jsonb
language plpgsql as $$
declare
  cron_version text;
  sub_minute boolean;
  missing text;
  intervals jsonb;
  tier text;
  defaults constant jsonb := '{"critical": 30, "medium": 120, "health": 300, "maintenance": 3600}';
  seconds int;
  expression text;
  command text;
  jobs jsonb := '[]'::jsonb;
begin
  select extversion into cron_version from pg_extension where extname = 'pg_cron';
  missing := case
    when cron_version is null then 'pg_cron is not installed'
    when to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null
      then 'pg_net is not installed'
    when to_regclass('vault.decrypted_secrets') is null then 'Supabase Vault is not installed'
  end;
  if missing is not null then
    raise notice 'monitoring cron schedules skipped: % (schedule the tiers with `deno task scheduler` instead)', missing;
    return jsonb_build_object('scheduled', false, 'reason', missing);
  end if;

  sub_minute := (regexp_match(cron_version, '^(\d+)\.(\d+)'))::int[] >= array[1, 5];
  select value into intervals from monitoring_config where key = 'tiers';
  foreach tier in array array['critical', 'medium', 'health', 'maintenance'] loop
    seconds := case
      when jsonb_typeof(intervals -> tier) = 'number' and (intervals ->> tier)::numeric >= 1
        then (intervals ->> tier)::numeric::int
      else (defaults ->> tier)::int
    end;
    expression := monitoring_cron_expression(seconds, sub_minute);
    command := format('select monitoring_cron_invoke(%L, %s)', tier, monitoring_cron_timeout_ms(seconds));
    perform cron.schedule('monitoring-' || tier, expression, command);
    jobs := jobs || jsonb_build_object('job', 'monitoring-' || tier, 'schedule', expression, 'command', command);
  end loop;
  return jsonb_build_object('scheduled', true, 'pg_cron', cron_version, 'jobs', jobs);
end;
$$;

-- Removes the jobs (e.g. before switching to the standalone scheduler).
create or replace function monitoring_unschedule_cron()
returns int
language plpgsql as $$
declare
  removed int := 0;
  name text;
begin
  if to_regclass('cron.job') is null then
    return 0;
  end if;
  for name in execute 'select jobname from cron.job where jobname like ''monitoring-%''' loop
    perform cron.unschedule(name);
    removed := removed + 1;
  end loop;
  return removed;
end;
$$;

-- None of these is for API users: Supabase grants execute on new public functions to
-- anon and authenticated by default, and monitoring_cron_invoke reads the cron secret.
revoke all on function monitoring_cron_invoke(text, int) from public;
revoke all on function monitoring_schedule_cron() from public;
revoke all on function monitoring_unschedule_cron() from public;
do $$
declare
  api_role text;
begin
  foreach api_role in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = api_role) then
      execute format('revoke all on function monitoring_cron_invoke(text, int) from %I', api_role);
      execute format('revoke all on function monitoring_schedule_cron() from %I', api_role);
      execute format('revoke all on function monitoring_unschedule_cron() from %I', api_role);
    end if;
  end loop;
end;
$$;

-- Enables pg_cron and pg_net where the server offers them. A server can offer
-- pg_cron yet refuse it in this database (it lives in cron.database_name only), or
-- the role may lack the right: either way the schedules are skipped, not the migration.
do $$
declare
  extension text;
begin
  foreach extension in array array['pg_cron', 'pg_net'] loop
    if exists (select 1 from pg_available_extensions where name = extension)
      and not exists (select 1 from pg_extension where extname = extension) then
      begin
        execute format('create extension if not exists %I', extension);
      exception when others then
        raise notice 'monitoring: % is available but cannot be enabled here: %', extension, sqlerrm;
      end;
    end if;
  end loop;
end;
$$;

select monitoring_schedule_cron();

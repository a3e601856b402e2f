import { defineCommand } from 'citty'
import { loadSettings, settingArgs } from '../config.ts'
import { POSTGRES_SETTINGS, withPostgres } from '../postgres/connect.ts'
import { MIGRATIONS, migrate } from '../postgres/migrations.ts'

export const migrateCommand = defineCommand({
  meta: {
    name: 'migrate',
    description:
      'Apply the PostgreSQL schema migrations (consume also does this at start-up).\n' +
      'Example:\n  POSTGRES_HOST=db.internal POSTGRES_PASSWORD=... invpipe migrate',
  },
  args: settingArgs(POSTGRES_SETTINGS),
  async run({ args }) {
    await withPostgres(loadSettings(POSTGRES_SETTINGS, args), async (sql) => {
      const applied = await migrate(sql)
      const latest = MIGRATIONS.at(-1)?.version
      console.log(
        applied.length > 0
          ? `applied migrations ${applied.join(', ')}; schema at version ${latest}`
          : `schema already at version ${latest}`,
      )
    })
  },
})

/**
 * Where the database keeps its files on this machine, when it does: the directory of the SQLite file, whose free
 * space tells whether the next writes can succeed. PostgreSQL's files are on its own server: none.
 */
import { Context, Layer, Option } from "effect"

/** The directory of the database's files on this machine, if it has one (SQLite). */
export class StorageVolume extends Context.Reference<StorageVolume>()("server/StorageVolume", {
  defaultValue: (): Option.Option<string> => Option.none()
}) {
  /** The database's files are in `directory`. */
  static readonly at = (directory: string): Layer.Layer<StorageVolume> =>
    Layer.succeed(StorageVolume, Option.some(directory))
}

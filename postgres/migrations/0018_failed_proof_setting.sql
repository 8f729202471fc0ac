-- Whether a device-bound session whose device proof fails is ended (the
-- default) or only marked high risk: Settings.EndSessionOnFailedProof.
ALTER TABLE accounts ADD COLUMN end_session_on_failed_proof boolean NOT NULL DEFAULT true;

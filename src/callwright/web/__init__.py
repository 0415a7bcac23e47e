"""The QA review web app (`callwright web`, also mounted by `callwright serve`): calls list, call
page with audio and transcript, review in place, workflow, calibration, dashboard. Above
`reports` and `store`; only `store` writes SQL."""
